"""Engines that analyse the chunks of a batch (voc.batch): ``local`` (this machine, default) and ``ray``.

Every engine calls ``voc.batch.analyse_chunk`` and commits with ``voc.batch.commit_chunk``, so part files,
resume and the final outputs do not depend on the engine. ``ray`` is an optional extra
(``pip install 'voc[ray]'``), imported only when chosen.
"""
