"""AWS wire formats driven by botocore service models: query, rest-xml and json, plus errors."""
