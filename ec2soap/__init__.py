"""ec2soap: an Amazon EC2 and S3 compatible gateway for Apache CloudStack."""

__version__ = "0.1.0.dev0"
__all__ = ["__version__"]
