"""Funder outcome exports: aggregate in the database, compute the shared statistics, suppress small cells,
and write the files a funder opens (XLSX, CSV + data package, a one-page HTML and PDF summary)."""
