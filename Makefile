# Two commands do everything on a fresh clone: `make figures` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
# Kernel matrices of mid size can stall with many BLAS threads on these machines.
export OPENBLAS_NUM_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: all install instructor figures results assignments grade test test-browser book test-book lint unit notebooks bench mutation clean

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

# Every published-scale experiment, each writing results/ID.json with its provenance, and the
# student-teacher runs at N = 100 that lecture 06 also loads (results/ID.reduced.json). On one
# quiet core: the per-particle student at N = 1000 about 1.5 hours (3 seeds, 4 modes), the dense
# student's first 300 epochs at N = 1000 about 10 minutes, the sweep at N = 1000 several hours;
# at N = 100 about 6, 15 and 5 minutes.
results: $(STAMP)
	$(PY) -m kernelflows.experiments run all --scale paper
	$(PY) -m kernelflows.experiments run student-teacher student-teacher-dense student-teacher-sweep --scale reduced

# Student versions of the lectures (nbgrader generate_assignment: solutions stubbed, outputs
# cleared, check cells autograded) into assignments/.
assignments: $(INSTRUCTOR_STAMP)
	$(PY) -m kernelflows.course.assignments --lectures lectures --out assignments

# Autograde handed-in notebooks: SUBMISSIONS=DIR holds one folder per student
# (DIR/alice/07_phi_divergences.ipynb, ...). Each exercise runs on its own in a bubblewrap
# sandbox, TIMEOUT seconds per cell, JOBS exercises at once; LECTURE=03 grades one lecture.
# Writes DIR/grades.csv, DIR/totals.csv, DIR/grading-report.txt and DIR/STUDENT/feedback/.
TIMEOUT ?= 60
JOBS ?= 2
grade: $(INSTRUCTOR_STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=DIR [LECTURE=03] [TIMEOUT=60] [JOBS=2]" >&2; exit 2; }
	env -u MPLBACKEND $(PY) -m kernelflows.course.grade "$(SUBMISSIONS)" --lectures lectures \
	  --timeout "$(TIMEOUT)" --jobs "$(JOBS)" $(if $(LECTURE),--lecture "$(LECTURE)")

LINT_DIRS := $(wildcard kernelflows tests tests_browser bench book)

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

# End to end in a real browser: JupyterLab on localhost, Debian's headless Chromium + chromedriver
# (same version, from apt), Selenium from PyPI. Screenshots land in artifacts/browser/.
BROWSER_STAMP := $(VENV)/.browser-installed
$(BROWSER_STAMP): $(INSTRUCTOR_STAMP)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver; }
	$(PY) -m pip install -e ".[test,grade,browser]"
	touch $(BROWSER_STAMP)

test-browser: $(BROWSER_STAMP)
	$(PY) -m pytest -v -p no:cacheprovider --ignore=tests_browser/test_book.py tests_browser

# The lectures as a static HTML book in build/book/ (open build/book/index.html): the committed,
# executed notebooks rendered by Sphinx + myst-nb without re-running them; MathJax is served
# from the site, so it reads offline. book/build.py lays out the sources in build/book-src/.
BOOK_STAMP := $(VENV)/.book-installed
$(BOOK_STAMP): $(INSTRUCTOR_STAMP)
	$(PY) -m pip install -e ".[test,grade,book]"
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)
	rm -rf build/book build/book-src build/book-doctrees
	$(PY) book/build.py --out build/book-src
	$(PY) -m sphinx -b html -q -d build/book-doctrees -w build/book-warnings.log build/book-src build/book
	@if [ -s build/book-warnings.log ]; then echo "book: Sphinx warnings:"; cat build/book-warnings.log; fi
	@echo "book: build/book/index.html"

# Every page of the book in headless Chromium: equations typeset, images loaded, internal
# links resolve, no console errors, nothing fetched from off the site (artifacts/browser/book-*).
test-book: book $(BROWSER_STAMP)
	$(PY) -m pytest -v -p no:cacheprovider tests_browser/test_book.py

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
	"kernelflows.flows.perturbations.*" "kernelflows.theory.*"

mutation: $(MUTATION_STAMP)
	rm -rf mutants
	nice -n 10 $(VENV)/bin/mutmut run --max-children 1 $(MUTATED)
	$(VENV)/bin/mutmut results

bench: $(STAMP)
	for f in bench/bench_*.py; do $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
