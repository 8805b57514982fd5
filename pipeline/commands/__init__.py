"""The application layer: one module per command, the same for every front end (the CLI, the
studio). A command takes typed options, returns a typed report, tells its progress as events
(pipeline.events) and never prints or exits; errors are the project's own (pipeline.errors).

    build    bring out/ up to date (and `dry_run`: what it would do, and why)
    preview  one episode into out/<series>/preview/
    check    every gate on what is in out/, across the workers
    listing  every episode's status and figures
    master   any recording mastered like an episode
    cache    the sentence cache's size and pruning
    audition what a voice makes of a phrase; the lexicon and its audit
"""
