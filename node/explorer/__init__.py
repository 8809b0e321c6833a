"""The block explorer every node serves at `/`: static pages plus the views they need.

The page is plain HTML/CSS/JS shipped as package data (no build step, no CDN: a bank's
operations network is often offline). It reads the node's own JSON-RPC and a WebSocket of new
blocks; amounts arrive as decimal strings and are never turned into JavaScript numbers.
"""
