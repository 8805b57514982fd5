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
    approval the producer's sign-off on an episode's audio (`episodes approve`)
    workspace one episode as the studio sees it: planned now, with the store's knowledge
    edit     one sentence edited and spoken again; takes and picks (the studio)
    pronunciation  a respelling auditioned, the sentences an entry changes, lexicon saves
    targets  `series/NN-slug` names as build targets
"""
