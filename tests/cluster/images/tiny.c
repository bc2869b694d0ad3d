/*
 * The whole content of the test images "small", "noshell" and "large": a program of a few KB
 * (no libc, raw system calls) that prints its name and then waits for SIGTERM/SIGINT.
 * Signals are blocked and waited for, not handled, because as a container's PID 1 a signal
 * left at its default action would be dropped by the kernel, while a blocked one is queued.
 * Build: gcc -static -nostdlib -ffreestanding -fno-stack-protector -Os -s -o tiny tiny.c
 */
#if defined(__x86_64__)
#define SYS_write 1
#define SYS_rt_sigprocmask 14
#define SYS_rt_sigtimedwait 128
#define SYS_exit_group 231
static long sys3(long n, long a, long b, long c)
{
	long ret;
	register long r10 __asm__("r10") = 8; /* sigsetsize, 4th argument of the two signal calls */
	__asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define SYS_write 64
#define SYS_rt_sigprocmask 135
#define SYS_rt_sigtimedwait 137
#define SYS_exit_group 94
static long sys3(long n, long a, long b, long c)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = 8; /* sigsetsize, 4th argument of the two signal calls */
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
}
#else
#error "tiny.c: only x86_64 and aarch64 are supported"
#endif

#define SIGINT 2
#define SIGTERM 15
#define SIG_BLOCK 0

static const char msg[] = "prewarm test image: waiting for SIGTERM\n";

__attribute__((force_align_arg_pointer, noreturn)) void _start(void)
{
	unsigned long set = (1UL << (SIGINT - 1)) | (1UL << (SIGTERM - 1));

	sys3(SYS_write, 1, (long)msg, sizeof(msg) - 1);
	sys3(SYS_rt_sigprocmask, SIG_BLOCK, (long)&set, 0);
	while (sys3(SYS_rt_sigtimedwait, (long)&set, 0, 0) < 0)
		; /* interrupted: wait again */
	sys3(SYS_exit_group, 0, 0, 0);
	__builtin_unreachable();
}
