"""Stamp rendering: QR codes (PNG, SVG, vector paths) and A4 PDF label sheets."""
