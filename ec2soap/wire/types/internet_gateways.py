"""EC2-VPC family `internet_gateways` (issue 12): its request and response shapes; being built, none yet."""
