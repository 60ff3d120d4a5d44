// Package msgraph checks that Microsoft's official Graph SDK for Go
// (github.com/microsoftgraph/msgraph-sdk-go) works against allot with only
// the base URL and the token changed. It is its own module so that the SDK,
// which is large, is not a dependency of allot itself; its test builds and
// runs a real `allot serve` and talks to it over HTTP only.
package msgraph
