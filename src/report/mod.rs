//! Reports: Markdown, JSON and a self-contained HTML page with SVG plots.
