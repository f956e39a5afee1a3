"""EC2 over Query: GET/POST with an Action parameter, signed with SigV2 or SigV4. Never imports soap/."""
