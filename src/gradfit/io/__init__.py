"""Files in and out: reading CSV and Parquet, the bundled datasets, model files (schema, writer,
reader) and the atomic writing of every output file."""
