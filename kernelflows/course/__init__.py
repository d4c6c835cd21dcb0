"""Course use: exercise checks (:mod:`.checks`), widgets (:mod:`.widgets`) and the student
versions of the lectures (:mod:`.assignments`)."""
