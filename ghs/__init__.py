"""GHS label elements: the reference tables (Chinese and English) and the rules that derive
a label from a classification. Pure: no I/O beyond reading its own tables once."""
