"""Query bindings for tags."""
from ec2soap.query.params import QueryParams

BINDINGS = {
    "DescribeTags": lambda p: {"filters": p.filters(), "max_results": p.int("MaxResults"),
                               "next_token": p.str("NextToken")},
    "CreateTags": lambda p: {"resource_ids": p.list("ResourceId"), "tags": p.tags()},
    "DeleteTags": lambda p: {"resource_ids": p.list("ResourceId"), "tags": p.tags()},
}

__all__ = ["BINDINGS", "QueryParams"]
