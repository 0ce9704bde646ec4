# Finds what the Python module needs: Debian's interpreter (/usr/bin/python3, whose NumPy and
# pytest come from Debian packages; another python3 earlier on PATH is not used unless
# Python_EXECUTABLE names it), its headers, and pybind11. Sets LOWBIT_PYTHON_FOUND.
if(NOT DEFINED Python_EXECUTABLE AND EXISTS /usr/bin/python3)
  set(Python_EXECUTABLE /usr/bin/python3)
endif()
find_package(Python 3.9 COMPONENTS Interpreter Development.Module)
if(Python_FOUND)
  set(PYBIND11_FINDPYTHON ON)
  find_package(pybind11 2.6 CONFIG QUIET)
endif()
if(Python_FOUND AND pybind11_FOUND)
  set(LOWBIT_PYTHON_FOUND ON)
else()
  set(LOWBIT_PYTHON_FOUND OFF)
  message(WARNING "pybind11 or the Python headers not found (Debian: pybind11-dev python3-dev): the Python "
                  "module is not built")
endif()
