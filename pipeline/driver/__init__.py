"""The build's engine room, driven by `pipeline.commands.build`:

    audio       the audio stage's scheduling: speak, fit, finish (AudioStage)
    commits     the driver: commits each episode's files and records it in the store (Driver)
    retakes     speech QA during a build: hear, retake misheard sentences, score
    publishing  after a build: orphans removed; each series' export, page, feed and gates
"""
