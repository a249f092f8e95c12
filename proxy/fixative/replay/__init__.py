"""`fixative replay`: what Fixative would have done with an existing access log.

parse.py reads lines (combined or JSON, plain or gzip), engine.py classifies them in order as the
proxy would and tallies the outcome, decide.py caches rule evaluation for log lines, run.py
replays a file, split by client across processes if asked, report.py prints the summary (text or JSON).
"""
