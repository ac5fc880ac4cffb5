"""The stages of a batch run; ``voc.batch.run`` chains them (each stage one module):

1. ``analyse``   — each chunk through the privacy gate, ticket linking and the pipeline; committed to a part file;
   ``dispatch`` skips committed chunks (resume), runs the rest in this process, in ``pool``'s worker processes
   or on a Ray actor pool (``voc.engines.ray_engine``), and sums their counts;
2. ``assemble``  — the parts into enriched.parquet/.csv and errors.csv, with the contact metrics (repeat
   contact, FCR) computed over the whole run;
3. ``aggregate`` — heatmaps, priority, scores, trends, and the discovered-topics section;
4. ``render``    — report, tables and summary.json, once, with the run's final summary.

``result`` holds what a run returns (and its progress events).
"""
