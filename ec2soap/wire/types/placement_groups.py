"""EC2-VPC family `placement_groups` (issue 12): its request and response shapes; being built, none yet."""
