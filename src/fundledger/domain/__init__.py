"""The domain: money, parties, funds, loans and the rules they obey.

Knows nothing of HTTP, SQL or the command line.
"""
