"""Templates, static files and page rendering for the public scan site: pure, no I/O."""
