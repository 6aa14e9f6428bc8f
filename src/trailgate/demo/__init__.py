"""`trailgate demo`: the seed's world (CloudTrail User Guide, "Assuming a Role") built and played
through the public API against a fresh server, with a report of every step."""
