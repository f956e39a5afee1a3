"""Core: EC2 semantics as plain async functions over a RequestContext. No Twisted, Spyne, lxml or SQL here."""
