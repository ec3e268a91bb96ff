"""Reports the registry hands out as files: FSMA 204 sheets and inspection report PDFs.

``fsma204_kde_columns.csv`` is the project's own cross-walk of the FSMA 204 key data
elements (21 CFR 1.1325-1.1350, public domain text), copied from shared/standards/fsma204.
"""
