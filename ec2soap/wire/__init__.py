"""The EC2 wire: XML shapes as data (shapes.py) and per-family declarations (types/)."""
