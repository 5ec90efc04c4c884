package dev.procurator.controllers.gitops;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GitUrlsTest {
  @ParameterizedTest
  @CsvSource({
      "file:///srv/git/other-team.git, file://",
      "http://127.0.0.1:3000/x.git, 127.0.0.1",
      "https://localhost/x.git, loopback",
      "http://10.1.2.3/x.git, 10.1.2.3",
      "http://172.16.0.9/x.git, private",
      "http://192.168.1.1/x.git, private",
      "http://169.254.169.254/latest/meta-data, link-local",
      "http://100.64.0.1/x.git, private",
      "http://0.0.0.0/x.git, private",
      "http://[::1]/x.git, loopback",
      "http://[fd00::1]/x.git, private",
      "http://[fe80::1]/x.git, link-local",
      "http://[::ffff:127.0.0.1]/x.git, loopback"})
  void privateRemotesAreRefusedUnlessAllowed(String url, String said) {
    assertThat(GitUrls.refusal(url, false)).contains(said).contains("--allow-private-git-urls");
    assertThat(GitUrls.refusal(url, true)).isNull();
  }

  @ParameterizedTest
  @CsvSource({"https://93.184.216.34/x.git", "http://8.8.8.8/x.git", "https://[2606:4700::1111]/x.git", "http://100.128.0.1/x.git"})
  void publicRemotesMayBeFetched(String url) {
    assertThat(GitUrls.refusal(url, false)).isNull();
  }
}
