"""The web console served under /console: server-rendered pages over the same operations,
authorization and CloudTrail recording as the API (see `console.app`)."""
