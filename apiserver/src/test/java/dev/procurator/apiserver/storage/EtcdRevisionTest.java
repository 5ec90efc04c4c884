package dev.procurator.apiserver.storage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import org.junit.jupiter.api.Test;

class EtcdRevisionTest {
  private static io.etcd.jetcd.KeyValue stored(byte[] value, long created, long modified) {
    return new io.etcd.jetcd.KeyValue(io.etcd.jetcd.api.KeyValue.newBuilder()
        .setKey(ByteString.copyFromUtf8("/k"))
        .setValue(ByteString.copyFrom(value))
        .setCreateRevision(created)
        .setModRevision(modified)
        .build(), ByteSequence.EMPTY);
  }

  @Test
  void aWriteInItsTxnsFirstSlotIsStoredAsItIs() {
    byte[] json = "{\"a\":1}".getBytes(UTF_8);
    assertThat(EtcdRevision.frame(json, 0)).isSameAs(json);
    KeyValue kv = EtcdRevision.keyValue(stored(json, 5, 5));
    assertThat(kv.value()).isEqualTo(json);
    assertThat(kv.modRevision()).isEqualTo(5L << 7);
    assertThat(kv.createRevision()).isEqualTo(kv.modRevision());
  }

  @Test
  void laterSlotsTravelWithTheValue() {
    byte[] json = "{\"a\":1}".getBytes(UTF_8);
    byte[] framed = EtcdRevision.frame(json, 37);
    assertThat(framed).startsWith(0, 37);
    KeyValue kv = EtcdRevision.keyValue(stored(framed, 9, 9));
    assertThat(kv.value()).isEqualTo(json);
    assertThat(kv.modRevision()).isEqualTo(EtcdRevision.of(9, 37));
    assertThat(kv.createRevision()).isEqualTo(kv.modRevision());

    KeyValue updated = EtcdRevision.keyValue(stored(framed, 3, 9));
    assertThat(updated.createRevision()).isEqualTo(EtcdRevision.of(3, 0)).isLessThan(updated.modRevision());
  }

  @Test
  void valuesStartingWithAZeroByteAreFramedEvenInSlotZero() {
    byte[] odd = {0, 1, 2};
    assertThat(EtcdRevision.keyValue(stored(EtcdRevision.frame(odd, 0), 4, 4)).value()).isEqualTo(odd);
    assertThat(EtcdRevision.keyValue(stored(EtcdRevision.frame(new byte[] {0}, 0), 4, 4)).value()).containsExactly(0);
    assertThat(EtcdRevision.keyValue(stored(new byte[0], 4, 4)).value()).isEmpty();
  }

  @Test
  void aWatchStartsWhereTheFirstLaterWriteCanBe() {
    assertThat(EtcdRevision.firstEtcdAfter(0)).isEqualTo(1);
    assertThat(EtcdRevision.firstEtcdAfter(EtcdRevision.whole(10))).isEqualTo(11);
    assertThat(EtcdRevision.firstEtcdAfter(EtcdRevision.of(10, 0))).isEqualTo(10);
    assertThat(EtcdRevision.firstEtcdAfter(EtcdRevision.of(10, 63))).isEqualTo(10);
  }

  @Test
  void comparesNeverExpectRevisionZeroWhichAnAbsentKeyWouldMatch() {
    assertThat(EtcdRevision.etcdModRevision(1)).isEqualTo(1);
    assertThat(EtcdRevision.etcdModRevision(EtcdRevision.of(42, 5))).isEqualTo(42);
  }
}
