"""Audio formats the gateway speaks: PCM16, G.711 mu-law and A-law, and resampling."""
