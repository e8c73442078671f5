"""The attribution tagger: who said (or believes, or wants) what, as labelled token spans.

Every token of a paragraph gets one of four labels - outside, source, cue, content - from an
averaged structured perceptron (first-order Viterbi) over hand-made token features. The weights
come from ``benchmarks/train_attribution.py`` and ship as ``claims/weights/attribution.json.gz``
(feature names and numbers only). Each cue's source is then picked by a second small averaged
perceptron (same file) among candidate spans.

- tokens: tokens with offsets, paragraph windows, sentence ends among tokens.
- features: the feature names of each token of a window (what the trainer sees).
- model: the weights, packed four label scores to an integer, and the memoised scoring of a window.
- decode: Viterbi over the four labels; tagging a whole text.
- sources: from labels to cues with their content runs and the chosen source run.

newsdigest.claims.attribution turns the tagged runs into Attribution records.
"""
