package dev.procurator.pctl;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class TablePrinterTest {
  private static final String COLUMNS = """
      "columnDefinitions":[{"name":"Name","priority":0},{"name":"Phase","priority":0},{"name":"Node","priority":1}]""";

  private static JsonNode table(String rows) throws Exception {
    return new ObjectMapper().readTree("{\"kind\":\"Table\"," + COLUMNS + ",\"rows\":[" + rows + "]}");
  }

  private static String row(String name, String phase) {
    return "{\"cells\":[\"" + name + "\",\"" + phase + "\",\"node-a\"],\"object\":{\"metadata\":{\"name\":\"" + name + "\"}}}";
  }

  @Test
  void aWatchThatStartsOnAnEmptyListPrintsTheHeaderWithItsFirstRow() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TablePrinter p = new TablePrinter(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, false);
    assertThat(p.print(table(""))).isZero();
    assertThat(bytes.toString(StandardCharsets.UTF_8)).as("nothing over an empty list").isEmpty();
    p.printRows(table(row("hello", "Pending")));
    p.printRows(table(row("hello", "Running")));
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines().toList())
        .containsExactly("NAME    PHASE", "hello   Pending", "hello   Running");
  }

  @Test
  void aWatchAfterAFullListPrintsTheHeaderOnce() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TablePrinter p = new TablePrinter(new PrintStream(bytes, true, StandardCharsets.UTF_8), true, false);
    assertThat(p.print(table(row("web", "Running")))).isEqualTo(1);
    p.printRows(table(row("web", "Stopped")));
    assertThat(bytes.toString(StandardCharsets.UTF_8).lines().toList())
        .containsExactly("NAME   PHASE     NODE", "web    Running   node-a", "web    Stopped   node-a");
  }
}
