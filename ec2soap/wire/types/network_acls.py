"""EC2-VPC family `network_acls` (issue 12): its request and response shapes; being built, none yet."""
