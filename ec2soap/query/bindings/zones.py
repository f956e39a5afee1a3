"""Query bindings for zones, regions and account attributes."""
from ec2soap.query.params import QueryParams

BINDINGS = {
    "DescribeAvailabilityZones": lambda p: {"zone_names": p.list("ZoneName"), "filters": p.filters()},
    "DescribeRegions": lambda p: {"region_names": p.list("RegionName"), "filters": p.filters()},
    "DescribeAccountAttributes": lambda p: {"attribute_names": p.list("AttributeName")},
}

__all__ = ["BINDINGS", "QueryParams"]
