"""docspasta for agents: the MCP server (`docspasta mcp`) over the crawled docs.

May import: the store's reader, exports (search, paste), the crawl runner (for the crawl
tools), extraction's token counter, the top-level modules; and the `mcp` SDK (only here).
"""
