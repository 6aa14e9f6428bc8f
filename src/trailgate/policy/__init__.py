"""The IAM policy language, pure and without I/O: parse + validate, compile, evaluate, explain.

Public entry points are re-exported here so callers never reach into submodules.
"""
