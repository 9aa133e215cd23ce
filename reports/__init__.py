"""Reports of a run: XLSX, one self-contained HTML file, JUnit XML, CSV (plain and for German Excel),
JSON and Markdown, each in a module of its own, all reading a `source.ReportRun`."""
