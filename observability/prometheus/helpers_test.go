package authprom_test

import authframe "github.com/authframe/authframe/core"

var (
	testSecret   = []byte("authprom-test-secret-0123456789abcdef")
	testIssuer   = "https://auth.example"
	testAudience = "authprom-test"
	testArgon    = authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}
	testClient   = authframe.ClientInfo{IP: "192.0.2.1", UserAgent: "authprom-test"}
)
