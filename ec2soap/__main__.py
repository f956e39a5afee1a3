"""`python -m ec2soap`: the same as the `ec2soap` command."""
import sys

from ec2soap.cli import main

sys.exit(main())
