/*
 * The GPIO plugin's backend interface.  gpio.c speaks only this; each
 * backend is one file: a real chip through libgpiod 1.x
 * (backend_chip_v1.c, Debian 12 / Raspberry Pi OS bookworm) or 2.x
 * (backend_chip_v2.c, Debian 13 / Raspberry Pi OS trixie), exactly one
 * of the two compiled in, chosen by the Makefile from the libgpiod it
 * finds; and backend_sim.c, an in-memory chip.
 *
 * Threading contract: the caller (gpio.c) serialises every call that
 * names one line (it holds that line's mutex), and calls for different
 * lines may run at the same time on different threads.  open/close run
 * alone.  A backend therefore keeps its per-line state per line and needs
 * no locking of its own.
 *
 * Errors: functions returning int answer -1 with errno set (the reason a
 * client sees through strerror), and on failure leave the line as it was.
 */
#ifndef PICMD_GPIO_BACKEND_H
#define PICMD_GPIO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#define GPIO_CONSUMER	"picmd"		/* our label on requested lines */
#define GPIO_NAME_MAX	32		/* the kernel's name/label size */

enum gpio_dir {
	GPIO_DIR_IN = 0,
	GPIO_DIR_OUT,
};

enum gpio_bias {
	GPIO_BIAS_AS_IS = 0,	/* leave the pull resistors alone */
	GPIO_BIAS_DISABLE,
	GPIO_BIAS_PULL_UP,
	GPIO_BIAS_PULL_DOWN,
};

struct gpio_line_info {
	char		 name[GPIO_NAME_MAX];		/* "" when unnamed */
	char		 consumer[GPIO_NAME_MAX];	/* "" when free */
	enum gpio_dir	 dir;
	enum gpio_bias	 bias;		/* as the kernel reports it */
	bool		 used;		/* requested by anyone, us included */
	long		 edges;		/* sim only: how often the level
					 * changed; -1 where unknown */
};

/* Which edges a watched input reports (a bit set). */
#define GPIO_EDGE_RISING	1u
#define GPIO_EDGE_FALLING	2u

/* One edge as the kernel saw it. */
struct gpio_edge {
	int		 rising;	/* 1 rising (level now 1), 0 falling */
	long long	 mono_ns;	/* the kernel's CLOCK_MONOTONIC stamp */
};

struct gpio_backend;

struct gpio_backend_ops {
	/* Release every line and free the backend. */
	void	(*close)(struct gpio_backend *be);
	int	(*line_info)(struct gpio_backend *be, unsigned off,
		    struct gpio_line_info *info);
	/*
	 * The request calls take the line for this process (consumer
	 * GPIO_CONSUMER) and keep it until release(); on a line already
	 * requested they reconfigure it in place, without letting go, so
	 * no other program can grab it in between.
	 */
	/* Take the line without changing its direction (to read it). */
	int	(*request_as_is)(struct gpio_backend *be, unsigned off);
	int	(*request_input)(struct gpio_backend *be, unsigned off,
		    enum gpio_bias bias);
	int	(*request_output)(struct gpio_backend *be, unsigned off,
		    enum gpio_bias bias, int value);
	/* On a requested line: its level, 0 or 1 (or -1). */
	int	(*get)(struct gpio_backend *be, unsigned off);
	/* On a line requested as output. */
	int	(*set)(struct gpio_backend *be, unsigned off, int value);
	/* Give the line back; nothing happens if it was not requested. */
	void	(*release)(struct gpio_backend *be, unsigned off);
	/*
	 * Edge detection (NULL in the sim backend, whose edges gpio.c makes
	 * itself).  watch makes the line an input with bias and the edges
	 * asked for (0: none, back to a plain input), a debounce the kernel
	 * applies where *debounce_us is not 0 (set to 0 when the backend
	 * cannot: gpio.c then debounces), and returns the descriptor that
	 * becomes readable when edges are pending, or -1 with errno.  The
	 * descriptor stays valid until the next watch, release or close.
	 */
	int	(*watch)(struct gpio_backend *be, unsigned off,
		    enum gpio_bias bias, unsigned edges, unsigned *debounce_us);
	/* Up to n pending edges, oldest first, without waiting: the count
	 * (0: none pending), or -1 with errno. */
	int	(*read_edges)(struct gpio_backend *be, unsigned off,
		    struct gpio_edge *ev, int n);
};

/* The common head of every backend. */
struct gpio_backend {
	const struct gpio_backend_ops	*ops;
	const char			*kind;		/* "chip" or "sim" */
	char				 name[GPIO_NAME_MAX];	/* gpiochip0 */
	char				 label[GPIO_NAME_MAX];	/* pinctrl-... */
	unsigned			 nlines;
};

/* ---- chip selection (chipsel.c: pure, no libgpiod) ---- */

/* What a scan of the /dev directory found about one chip. */
struct gpio_chip_desc {
	char		 name[GPIO_NAME_MAX];	/* "gpiochip4" */
	char		 label[GPIO_NAME_MAX];	/* "" when it could not open */
	unsigned	 nlines;
	int		 open_errno;		/* 0, or why it did not open */
};

#define GPIO_SELECT_NONE	(-1)	/* auto, and there is no chip at all */
#define GPIO_SELECT_ERROR	(-2)	/* why[] says what is wrong */

/*
 * Pick the chip that `spec` (the [gpio] chip value) names among chips[]:
 * "auto" picks the Raspberry Pi's header chip by label, "gpiochipN" or
 * "N" a chip by name, anything else a chip by label.  Returns an index
 * into chips[], GPIO_SELECT_NONE, or GPIO_SELECT_ERROR with the reason in
 * why.  A pure function, so the tests can feed it any machine's chips.
 */
int	gpio_chip_select(const struct gpio_chip_desc *chips, size_t n,
	    const char *spec, char *why, size_t whylen);
/* The labels auto accepts, most preferred first, NULL-terminated. */
extern const char *const gpio_pi_header_labels[];

/* ---- backend constructors ---- */

/*
 * List the gpiochipN entries of dev_root (sorted by N), probing each to
 * learn its label and size.  0 and a malloc'd array (maybe empty), or -1
 * with why (dev_root unreadable).  chipscan.c.
 */
int	gpio_chip_scan(const char *dev_root, struct gpio_chip_desc **chips,
	    size_t *n, char *why, size_t whylen);
/* Why a chip did not open (errno), as a user reads it.  chipscan.c. */
const char *gpio_chip_open_reason(int err);

/* The chip backend compiled in (backend_chip_v1.c or _v2.c) provides: */
/* Fill d->label and d->nlines from the chip at path; -1 with errno. */
int	gpio_chip_probe(const char *path, struct gpio_chip_desc *d);
/* Open dev_root/name as the chip backend; NULL with why on failure. */
struct gpio_backend *gpio_chip_open(const char *dev_root, const char *name,
	    char *why, size_t whylen);

/* The simulated chip: 54 lines "GPIO0".."GPIO53", like a Pi's. */
#define GPIO_SIM_LINES	54
struct gpio_backend *gpio_sim_open(void);
/* Drive a simulated input from outside: 0, 1, or -1 to let it float. */
int	gpio_sim_drive(struct gpio_backend *be, unsigned off, int level);
/* Pretend another program holds the line (consumer non-NULL) or not. */
int	gpio_sim_claim(struct gpio_backend *be, unsigned off,
	    const char *consumer);

#endif
