import assert from "node:assert/strict";
import { test } from "node:test";
import { DigestSession, authorize, parseChallenge, pickChallenge } from "./digest.ts";

test("RFC 2617 3.5 MD5 qop=auth example", () => {
  const c = parseChallenge(
    'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
    false,
  );
  assert.ok(c);
  const a = authorize(c, {
    username: "Mufasa",
    password: "Circle Of Life",
    method: "GET",
    uri: "/dir/index.html",
    cnonce: "0a4f113b",
    nc: 1,
  });
  assert.equal(a.header, "Authorization");
  assert.match(a.value, /response="6629fae49393a05397450978507c4ef1"/);
  assert.match(a.value, /nc=00000001/);
  assert.match(a.value, /opaque="5ccc069c403ebaf9f0171e9517f40e41"/);
});

test("RFC 7616 3.9.1 SHA-256 and MD5 examples", () => {
  const base =
    'realm="http-auth@example.org", qop="auth, auth-int", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
  const input = {
    username: "Mufasa",
    password: "Circle of Life",
    method: "GET",
    uri: "/dir/index.html",
    cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    nc: 1,
  };
  const sha = parseChallenge(`Digest ${base}, algorithm=SHA-256`, true);
  const md5 = parseChallenge(`Digest ${base}, algorithm=MD5`, true);
  assert.ok(sha && md5);
  const a = authorize(sha, input);
  assert.equal(a.header, "Proxy-Authorization");
  assert.match(a.value, /response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"/);
  assert.match(a.value, /algorithm=SHA-256/);
  assert.match(authorize(md5, input).value, /response="8ca523f5e9506fed4657c9700eebdbec"/);
  assert.equal(pickChallenge([md5, sha])?.algorithm, "SHA-256");
});

test("unknown algorithms and non-Digest schemes are not answered", () => {
  assert.equal(parseChallenge('Digest realm="a", nonce="b", algorithm=FOO', false), undefined);
  assert.equal(parseChallenge('Basic realm="a"', false), undefined);
});

test("DigestSession gives up on a second challenge unless stale", () => {
  const s = new DigestSession("u", "p");
  const ch = { www: ['Digest realm="r", nonce="n1", qop="auth"'], proxy: [] };
  assert.ok(s.respond(ch, { method: "REGISTER", uri: "sip:r" }));
  assert.equal(
    s.respond({ www: ['Digest realm="r", nonce="n2", qop="auth"'], proxy: [] }, { method: "REGISTER", uri: "sip:r" }),
    undefined,
  );
  const again = s.respond(
    { www: ['Digest realm="r", nonce="n3", qop="auth", stale=true'], proxy: [] },
    { method: "REGISTER", uri: "sip:r" },
  );
  assert.ok(again);
  s.reset();
  assert.ok(s.respond(ch, { method: "REGISTER", uri: "sip:r" })?.[0].value.includes("nc=00000002"));
});
