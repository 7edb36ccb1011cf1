/* C++ and Rust (legacy and v0) symbol demangling, through libiberty. */
#ifndef UP_SYMBOLIZE_DEMANGLE_H
#define UP_SYMBOLIZE_DEMANGLE_H

/* The demangled form of name (malloc'd), or NULL when name is not a mangled name. */
char *up_demangle(const char *name);

#endif
