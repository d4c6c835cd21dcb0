# Two commands do everything on a fresh clone: `make figures` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
# Worker processes of `make results`, `make results-reduced` and `make grade`.
JOBS ?= 2
# Kernel matrices of mid size can stall with many BLAS threads on these machines.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: all install instructor figures results results-reduced assignments grade test test-wheel test-browser book book-student test-book lint unit notebooks bench mutation clean

all: test

# What a student needs to read and run the lectures: the package, JupyterLab, the test tools.
# No nbgrader: its JupyterLab menus ("Create Assignment", ...) are for instructors.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[test]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

# The instructor's tools (student versions, grading): nbgrader, MathJax for the feedback pages,
# and Debian's bubblewrap, the sandbox students' code runs in. nbgrader's JupyterLab and server
# extensions are switched off in this environment: everything it does here goes through
# `make assignments` and `make grade`.
INSTRUCTOR_STAMP := $(VENV)/.instructor-installed
$(INSTRUCTOR_STAMP): $(STAMP)
	command -v bwrap >/dev/null || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap; }
	$(PY) -m pip install -e ".[test,grade]"
	$(VENV)/bin/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1 || true
	for ext in nbgrader.server_extensions.formgrader nbgrader.server_extensions.assignment_list \
	    nbgrader.server_extensions.course_list nbgrader.server_extensions.validate_assignment; do \
	  $(VENV)/bin/jupyter server extension disable --sys-prefix $$ext >/dev/null 2>&1 || true; done
	touch $(INSTRUCTOR_STAMP)

instructor: $(INSTRUCTOR_STAMP)

figures: $(STAMP)
	$(PY) -m kernelflows.figures --out figures

# Every experiment at the published scale (`run all --scale paper`): kernelflows/results/ID.json,
# the files shipped with the package, with their provenance. Lectures 04 and 04a read collapse-map,
# 06 and 06a student-teacher (and 06a student-teacher-dense), 09 three-rings and mixture, 10 beyond,
# 11 after-the-talk (`make figures` the collapse map too); collapse, drmmd-three-rings,
# drmmd-student-teacher and student-teacher-sweep are read by no lecture (the latter two have no
# file yet). The dense student at N = 1000 runs its first 200 epochs only (about 2 GFlop per
# minibatch step, 1e5 steps for the published 1e4 epochs: a GPU's job). drmmd-student-teacher
# belongs here: its paper scale is the authors' schedule (1e4 epochs, their lam and lr) on N = 100
# students, compared with the MMD flow's runs on the same problems that it reads from the shipped
# reduced student-teacher files (settings checked); this target does not write those, so it waits
# for nothing in the run (to regenerate both, run `make results-reduced` first). The pieces of every
# file share JOBS worker processes of one BLAS thread each (the results do not depend on JOBS),
# longest first by the CPU seconds the files there record, so no worker idles until the last pieces.
# A results file is written after every piece: stopped (Ctrl-C), the same command again keeps the
# pieces written by the same code and computes the rest (`python -m kernelflows.experiments run ID
# --fresh` starts one over). `python -m kernelflows.experiments list` estimates each file and both
# targets on two processes from the files' records (2026-12-08: about 62 min for this one, without
# the 30 pieces of the two files not written yet: about 40 CPU-min more, 20 min on two cores, from
# one piece of each timed alone: 78 and 104 CPU-s).
results: $(STAMP)
	$(PY) -m kernelflows.experiments run all --scale paper --out kernelflows/results --jobs $(JOBS)

# The N = 100 files (kernelflows/results/ID.reduced.json) that lectures 06 and 06a
# (student-teacher, student-teacher-dense, student-teacher-sweep), 11 (drmmd-student-teacher)
# and `make figures` (the student-teacher figure) read, in one pool as above (about 49 min on
# two processes, 2026-12-08 estimate).
results-reduced: $(STAMP)
	$(PY) -m kernelflows.experiments run student-teacher student-teacher-dense student-teacher-sweep drmmd-student-teacher --scale reduced --out kernelflows/results --jobs $(JOBS)

# Student versions of the lectures (nbgrader generate_assignment: solutions stubbed, outputs
# cleared, check cells autograded) into assignments/.
assignments: $(INSTRUCTOR_STAMP)
	$(PY) -m kernelflows.course.assignments --lectures lectures --out assignments
	$(PY) -m kernelflows.course.catalogue --lectures lectures --assignments assignments

# Autograde handed-in notebooks: SUBMISSIONS=DIR holds one folder per student
# (DIR/alice/07_phi_divergences.ipynb, ...). Each exercise runs on its own in a bubblewrap
# sandbox, TIMEOUT seconds per cell, JOBS exercises at once; LECTURE=03 grades one lecture.
# Writes DIR/grades.csv, DIR/totals.csv, DIR/grading-report.txt and DIR/STUDENT/feedback/.
TIMEOUT ?= 60
grade: $(INSTRUCTOR_STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=DIR [LECTURE=03] [TIMEOUT=60] [JOBS=2]" >&2; exit 2; }
	env -u MPLBACKEND $(PY) -m kernelflows.course.grade "$(SUBMISSIONS)" --lectures lectures \
	  --timeout "$(TIMEOUT)" --jobs "$(JOBS)" $(if $(LECTURE),--lecture "$(LECTURE)")

LINT_DIRS := $(wildcard kernelflows tests tests_browser tests_wheel bench book)

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS) $(wildcard lectures)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)

# The student versions' execution (marked slow) repeats lecture code that `notebooks` runs;
# `$(PY) -m pytest -m slow tests` runs it.
unit: $(INSTRUCTOR_STAMP)
	$(PY) -m pytest -n 2 -m "not slow" tests

notebooks: $(STAMP)
	env -u MPLBACKEND $(PY) -m pytest -n 2 --dist loadfile --nbval --nbval-current-env -p no:randomly lectures

test: lint unit notebooks

# The package as a student gets it: build the wheel and the sdist, check their metadata (twine),
# install the wheel into a fresh venv outside the checkout (through a lecture's first cell) and
# run every notebook of lectures/ alone from an empty folder under strict nbval, one BLAS thread
# (a few minutes; step times in artifacts/wheel/timings.txt).
RELEASE_STAMP := $(VENV)/.release-installed
$(RELEASE_STAMP): $(STAMP)
	$(PY) -m pip install -e ".[test,release]"
	touch $(RELEASE_STAMP)

test-wheel: $(RELEASE_STAMP)
	$(PY) -m pytest -v -p no:cacheprovider -p no:randomly tests_wheel

# End to end in a real browser: JupyterLab on localhost, Debian's headless Chromium + chromedriver
# (same version, from apt), Selenium from PyPI. Screenshots land in artifacts/browser/.
BROWSER_STAMP := $(VENV)/.browser-installed
$(BROWSER_STAMP): $(INSTRUCTOR_STAMP)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }
	$(PY) -m pip install -e ".[test,grade,browser]"
	touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP)
	$(PY) -m pytest -v -p no:cacheprovider --ignore=tests_browser/test_book.py \
	  --ignore=tests_browser/test_book_editions.py tests_browser

# The lectures as a static HTML book in build/book/ (open build/book/index.html): the committed,
# executed notebooks rendered by Sphinx + myst-nb without re-running them; MathJax is served
# from the site, so it reads offline. book/build.py lays out the sources in build/book-src/.
BOOK_STAMP := $(VENV)/.book-installed
$(BOOK_STAMP): $(INSTRUCTOR_STAMP)
	$(PY) -m pip install -e ".[test,grade,book]"
	touch $(BOOK_STAMP)

# build_book OUT, FLAGS: book/build.py lays out OUT-src, Sphinx writes OUT.
define build_book
	rm -rf $(1) $(1)-src $(1)-doctrees
	$(PY) book/build.py --out $(1)-src $(2)
	$(PY) -m sphinx -b html -q -d $(1)-doctrees -w $(1)-warnings.log $(1)-src $(1)
	@if [ -s $(1)-warnings.log ]; then echo "book: Sphinx warnings:"; cat $(1)-warnings.log; fi
	@echo "book: $(1)/index.html"
endef

book: $(BOOK_STAMP)
	$(call build_book,build/book,)

# The students' edition in build/book-student/: no solutions (not even folded), each lecture
# shown as its student version of assignments/, which its download button serves. The launch
# buttons (Binder, Colab, a JupyterHub: book/launch.py) open the notebook a page shows.
book-student: $(BOOK_STAMP)
	$(call build_book,build/book-student,--student)

# Both books in headless Chromium: equations typeset, images loaded, internal links resolve, no
# console errors, nothing fetched from off the site (artifacts/browser/book-*); the student book
# holds no solution text; the launch links are well formed and name existing notebooks (built
# with an example JupyterHub, so that its button is there to check).
test-book: export KERNELFLOWS_JUPYTERHUB_URL = https://jupyterhub.example.org
test-book: book book-student $(BROWSER_STAMP)
	$(PY) -m pytest -v -p no:cacheprovider tests_browser/test_book.py tests_browser/test_book_editions.py

# Mutation testing, not in CI and not in `make test`: mutmut mutates the numerical modules named
# in pyproject.toml ([tool.mutmut]) and, for each mutant, runs the unit tests that reach the
# mutated function; one worker at low priority (about 15 minutes on one free core). Mutants and
# their results stay in mutants/ (`mutmut show NAME` prints one).
MUTATION_STAMP := $(VENV)/.mutation-installed
$(MUTATION_STAMP): $(INSTRUCTOR_STAMP)
	$(PY) -m pip install -e ".[test,grade,mutation]"
	touch $(MUTATION_STAMP)

MUTATED := "kernelflows.divergences.mmd.*" "kernelflows.divergences.two_sample.*" \
	"kernelflows.divergences.kale.*" "kernelflows.divergences.kale_newton.x_duality_gap*" \
	"kernelflows.divergences.kale_newton.x__phi*" "kernelflows.flows.mmd.*" \
	"kernelflows.flows.perturbations.*" "kernelflows.theory.*" \
	"kernelflows.divergences.drmmd.*" "kernelflows.flows.drmmd.*"

mutation: $(MUTATION_STAMP)
	rm -rf mutants
	nice -n 10 $(VENV)/bin/mutmut run --max-children 1 $(MUTATED)
	$(VENV)/bin/mutmut results

bench: $(STAMP)
	for f in bench/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
