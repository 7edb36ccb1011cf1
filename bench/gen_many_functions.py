"""Write a C file with N small functions, each with an inlined helper (for symbolize_throughput)."""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
print("static inline __attribute__((always_inline)) int helper(int x, int k)")
print("{\n\treturn x * k + (x >> 3);\n}")
for i in range(n):
    print("__attribute__((noinline)) int f%d(int x);" % i)
    print("__attribute__((noinline)) int f%d(int x) { return helper(x, %d) ^ %d; }" % (i, i % 97 + 1, i))
print("int main(int c, char **v) { (void)v; return f0(c); }")
