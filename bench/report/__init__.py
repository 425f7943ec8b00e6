"""Reports: plots, HTML and Markdown summaries, and the comparison gate."""
