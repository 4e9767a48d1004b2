"""Registration: warping fields (warp), the multi-step -param language (param), the engine (engine)."""
