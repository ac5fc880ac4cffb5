"""Engines that analyse the chunks of a batch (voc.batch): ``local`` (voc.run.pool, default) and ``ray``.

Every engine calls ``voc.run.analyse.analyse_chunk`` and commits with ``voc.run.analyse.commit_chunk``, so
part files, resume and the final outputs do not depend on the engine. ``ray`` is an optional extra
(``pip install 'voc[ray]'``), imported only when chosen.
"""
