"""Benchmarks behind ``fxr-forensic bench``; each returns a plain dict."""
