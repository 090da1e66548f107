/*
 * Unit tests for src/endpoint.c: parsing listen addresses as a config
 * gives them, formatting socket addresses back, and loopback detection.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "endpoint.h"

static void
parse_ok(const char *text, struct endpoint *ep)
{
	const char *why = NULL;

	if (endpoint_parse(text, ep, &why) != 0)
		fail_msg("'%s' refused: %s", text, why ? why : "?");
	assert_string_equal(ep->text, text);
}

static void
expect_bad(const char *text, const char *why_part)
{
	struct endpoint ep;
	const char *why = NULL;

	if (endpoint_parse(text, &ep, &why) != -1)
		fail_msg("'%s' accepted", text);
	assert_non_null(why);
	if (strstr(why, why_part) == NULL)
		fail_msg("'%s': '%s' does not mention '%s'", text, why,
		    why_part);
}

/* Format ep's address and compare with want. */
static void
expect_format(const struct endpoint *ep, const char *want)
{
	char buf[ENDPOINT_TEXT_MAX];

	endpoint_format((const struct sockaddr *)&ep->addr, ep->addrlen, buf,
	    sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_ipv4(void **state)
{
	struct endpoint ep;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&ep.addr;

	parse_ok("127.0.0.1:15769", &ep);
	assert_int_equal(ep.family, AF_INET);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ep.addrlen, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(sin->sin_port), 15769);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);

	parse_ok("0.0.0.0:0", &ep);
	assert_int_equal(ntohs(sin->sin_port), 0);
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));

	parse_ok("192.168.1.20:65535", &ep);
	assert_int_equal(ntohs(sin->sin_port), 65535);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0a80114);
}

static void
test_ipv6(void **state)
{
	struct endpoint ep;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ep.addr;
	struct in6_addr want;

	parse_ok("[::1]:15769", &ep);
	assert_int_equal(ep.family, AF_INET6);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ep.addrlen, sizeof(struct sockaddr_in6));
	assert_int_equal(ntohs(sin6->sin6_port), 15769);
	assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

	parse_ok("[::]:1", &ep);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));

	parse_ok("[fd00:1::42]:8080", &ep);
	assert_int_equal(inet_pton(AF_INET6, "fd00:1::42", &want), 1);
	assert_memory_equal(&sin6->sin6_addr, &want, sizeof(want));
	assert_int_equal(ntohs(sin6->sin6_port), 8080);
}

static void
test_unix(void **state)
{
	struct endpoint ep;
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&ep.addr;
	char path[sizeof(sun->sun_path) + 8];

	parse_ok("unix:/run/picmd/picmd.sock", &ep);
	assert_int_equal(ep.family, AF_UNIX);
	assert_int_equal(sun->sun_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/run/picmd/picmd.sock");
	assert_true(ep.addrlen > offsetof(struct sockaddr_un, sun_path) +
	    strlen("/run/picmd/picmd.sock"));

	/* The longest path that fits sun_path with its NUL. */
	memcpy(path, "unix:/", 6);
	memset(path + 6, 'p', sizeof(sun->sun_path) - 2);
	path[6 + sizeof(sun->sun_path) - 2] = '\0';
	parse_ok(path, &ep);
	assert_int_equal(strlen(sun->sun_path), sizeof(sun->sun_path) - 1);
	/* One more byte does not fit. */
	path[6 + sizeof(sun->sun_path) - 2] = 'p';
	path[6 + sizeof(sun->sun_path) - 1] = '\0';
	expect_bad(path, "too long");
}

static void
test_errors(void **state)
{
	char long_text[ENDPOINT_TEXT_MAX + 8];

	/* Ports. */
	expect_bad("127.0.0.1", "ADDRESS:PORT");
	expect_bad("127.0.0.1:", "port");
	expect_bad("127.0.0.1:65536", "port");
	expect_bad("127.0.0.1:99999999999999999999999", "port");
	expect_bad("127.0.0.1:-1", "port");
	expect_bad("127.0.0.1:+1", "port");
	expect_bad("127.0.0.1: 1", "port");
	expect_bad("127.0.0.1:80x", "port");
	expect_bad("[::1]:", "port");
	expect_bad("[::1]:http", "port");

	/* Addresses: numeric only, no names. */
	expect_bad("localhost:80", "IPv4");
	expect_bad("pi.local:80", "IPv4");
	expect_bad("256.0.0.1:80", "IPv4");
	expect_bad(":80", "address");
	expect_bad("[]:80", "address");
	expect_bad("[localhost]:80", "IPv6");
	expect_bad("[127.0.0.1]:80", "IPv6");
	expect_bad("::1:80", "[IPv6]:PORT");

	/* Brackets. */
	expect_bad("[::1:80", "[IPv6]:PORT");
	expect_bad("[::1]", "[IPv6]:PORT");
	expect_bad("[::1]80", "[IPv6]:PORT");

	/* Unix sockets. */
	expect_bad("unix:relative.sock", "absolute");
	expect_bad("unix:", "absolute");
	expect_bad("unix:./x.sock", "absolute");

	expect_bad("", "ADDRESS:PORT");
	memset(long_text, '1', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	expect_bad(long_text, "too long");
}

static void
test_format_round_trip(void **state)
{
	static const char *const texts[] = {
		"127.0.0.1:15769", "0.0.0.0:0", "10.1.2.3:65535", "[::1]:15769",
		"[::]:1", "[fd00:1::42]:8080", "unix:/run/picmd/picmd.sock",
		"unix:/tmp/a b.sock",
	};
	struct endpoint ep;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		parse_ok(texts[i], &ep);
		expect_format(&ep, texts[i]);
	}
	/* Formatting gives the canonical spelling. */
	parse_ok("[0:0:0:0:0:0:0:1]:5", &ep);
	expect_format(&ep, "[::1]:5");
	parse_ok("[FD00::A]:5", &ep);
	expect_format(&ep, "[fd00::a]:5");
}

static void
test_format_other_addresses(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockaddr_storage ss = { .ss_family = AF_PACKET };
	struct endpoint ep;
	char buf[8];

	/* A client of a unix socket has no name. */
	endpoint_format((struct sockaddr *)&sun,
	    (socklen_t)offsetof(struct sockaddr_un, sun_path), buf, sizeof(buf));
	assert_string_equal(buf, "unix");
	endpoint_format((struct sockaddr *)&sun, sizeof(sun), buf, sizeof(buf));
	assert_string_equal(buf, "unix");

	endpoint_format((struct sockaddr *)&ss, sizeof(ss), buf, sizeof(buf));
	assert_string_equal(buf, "unknown");

	/* A small buffer truncates but stays a string. */
	parse_ok("192.168.100.200:15769", &ep);
	endpoint_format((struct sockaddr *)&ep.addr, ep.addrlen, buf,
	    sizeof(buf));
	assert_string_equal(buf, "192.168");
}

static void
test_loopback(void **state)
{
	static const struct { const char *text; bool loopback; } cases[] = {
		{ "127.0.0.1:1", true },
		{ "127.1.2.3:1", true },
		{ "[::1]:1", true },
		{ "unix:/run/picmd.sock", true },
		{ "0.0.0.0:1", false },
		{ "10.0.0.1:1", false },
		{ "126.255.255.255:1", false },
		{ "128.0.0.1:1", false },
		{ "[::]:1", false },
		{ "[fe80::1]:1", false },
	};
	struct endpoint ep;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].text, &ep);
		if (endpoint_is_loopback(&ep) != cases[i].loopback)
			fail_msg("'%s': loopback should be %d", cases[i].text,
			    cases[i].loopback);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_other_addresses),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests_name("endpoint", tests, NULL, NULL);
}
