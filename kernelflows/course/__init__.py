"""Course use: exercise checks (:mod:`.checks`), widgets (:mod:`.widgets`), the map from the
talk's slides to the lectures (:mod:`.slides`), and the nbgrader tooling: marking the lectures
(:mod:`.mark`), the per-lecture extras (:mod:`.extras`), the student versions
(:mod:`.assignments`) and grading (:mod:`.grade`)."""
