"""EC2-VPC family `route_tables` (issue 12): its request and response shapes; being built, none yet."""
